// Prediction as `alexnet classify`, `alexnet step` and the notebook page make it: the test crops of
// an image (the centre, or the paper's ten) through a loaded session, their softmax averaged, and
// the most probable classes with their names. With the image's domain check, for models that say
// what they were trained on.
import type { ImageDomain } from './data/domain.js';
import { outOfDomain } from './data/domain.js';
import type { Image } from './data/image.js';
import type { PipelineSpec, TestCrops } from './data/pipeline.js';
import { testCrops } from './data/pipeline.js';
import { stackImages } from './data/preprocess.js';
import type { Session } from './runtime/index.js';
import { topK } from './tensor.js';

export interface RankedClass {
  readonly class: number;
  readonly label: string;
  readonly prob: number;
}

/** The softmax averaged over the test crops (the centre, or ten). */
export async function predict(session: Session, img: Image, spec: PipelineSpec, crops: TestCrops): Promise<Float64Array> {
  const images = testCrops(img, spec, crops);
  const { output } = await session.run(stackImages(images));
  const classes = output.shape[1];
  const mean = new Float64Array(classes);
  for (let i = 0; i < output.data.length; i++) mean[i % classes] += output.data[i] / images.length;
  return mean;
}

/** The k most probable classes, most probable first, with their names. */
export function topClasses(prob: ArrayLike<number>, labels: readonly string[], k = 5): RankedClass[] {
  return topK(prob, k).map((t) => ({ ...t, label: labels[t.class] }));
}

/**
 * A warning for an image unlike the model's training images (`rgb` as decoded, in colour), naming
 * what the model knows, then `remedy` (how this face loads a model for photos); undefined when the
 * image fits or the model does not say what it knows.
 */
export function domainWarning(rgb: Image, domain: ImageDomain | undefined, labels: readonly string[], name: string, remedy: string): string | undefined {
  if (!domain) return undefined;
  const reasons = outOfDomain(rgb, domain);
  if (!reasons.length) return undefined;
  const kinds = labels.length <= 12 ? ` (${labels.join(', ')})` : '';
  const look = `${domain.width}x${domain.height}${domain.grey ? ' grey' : ''} images${domain.darkBackground ? ' on a dark background' : ''}`;
  return `${name} is ${listed(reasons)}, but this model only knows ${domain.description}${kinds}, as ${look}: its answer means little here. ${remedy}`;
}

const listed = (items: readonly string[]): string => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);
