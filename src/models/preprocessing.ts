// How each preset wants its images prepared: plain data the pipeline in src/data/ follows.
import type { Preset } from './alexnet.js';

export interface Preprocessing {
  /** the shorter side is rescaled to this, then the centre square of that side is kept */
  readonly resize: number;
  /** side of the crop the network sees (random in training, centre or ten crops in testing) */
  readonly crop: number;
  /** pixels (0..255) are multiplied by this before the mean is subtracted: 1, or 1/255 for [0, 1] */
  readonly scale: number;
  /**
   * what is subtracted after scaling: 'image' is the training set's mean image (a stats file from
   * `alexnet stats`; the paper's choice), otherwise one value per channel
   */
  readonly mean: 'image' | readonly number[];
  /** per-channel divisor after the mean (torchvision); none in the paper */
  readonly std?: readonly number[];
  /** the network's channel order: images are decoded RGB; 'bgr' reverses them (Caffe's weights) */
  readonly order?: 'bgr';
}

// ImageNet's per-channel RGB mean on the 0..255 scale, standing in for the mean image when a paper or
// bvlc model is used without a stats file (it is the mean image averaged over its pixels).
export const IMAGENET_RGB_MEAN_255 = [123.675, 116.28, 103.53] as const;

/** Caffe's ImageNet models (bvlc_alexnet and the ONNX zoo's conversions): BGR, minus the ilsvrc_2012 mean pixel (B, G, R). */
export const CAFFE_PREPROCESSING: Preprocessing = { resize: 256, crop: 227, scale: 1, mean: [104.00698793, 116.66876762, 122.67891434], order: 'bgr' };

export const PREPROCESSING: Record<Preset, Preprocessing> = {
  paper: { resize: 256, crop: 227, scale: 1, mean: 'image' },
  bvlc: { resize: 256, crop: 227, scale: 1, mean: 'image' },
  // torchvision's ImageNet transforms: Resize(256), CenterCrop(224), ToTensor(), Normalize(mean, std)
  torchvision: { resize: 256, crop: 224, scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  // 28x28 images enlarged to 36, cropped to 32 (the paper's 256 → 227 ratio), on the [0, 1] scale
  // its fan-in initialisation expects
  mini: { resize: 36, crop: 32, scale: 1 / 255, mean: 'image' },
};
