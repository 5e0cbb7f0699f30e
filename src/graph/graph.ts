// A Graph is a list of named nodes in execution order; each node reads earlier nodes by name.
// Shapes are inferred when the graph is built, so an inconsistent graph never exists: the error
// names the node, its op, the input shapes it got, and what it expected.
import { GraphError } from '../errors.js';
import type { Shape } from '../tensor.js';
import { shapeToString, sizeOf } from '../tensor.js';
import { defOf, OpShapeError } from './ops.js';
import type { Op, ParamShape } from './ops.js';

export interface NodeSpec {
  readonly name: string;
  readonly op: Op;
  /** Names of the nodes this one reads; defaults to the node before it (none for `input`). */
  readonly inputs?: readonly string[];
  /** The device the node runs on (its output lives there); default 0. Backends ignore it. */
  readonly device?: number;
}

export interface GraphNode {
  readonly name: string;
  readonly op: Op;
  readonly inputs: readonly string[];
  readonly device: number;
  /** Per-sample shapes (no batch dimension). */
  readonly inputShapes: readonly Shape[];
  readonly shape: Shape;
  readonly params: readonly ParamShape[];
  /** Elements in all of params. */
  readonly paramCount: number;
  readonly macs: number;
  readonly description: string;
}

/** A parameter tensor of the graph under its full name, e.g. `conv2.weight` [256, 48, 5, 5]. */
export interface ParamSpec {
  readonly name: string;
  readonly node: string;
  readonly kind: ParamShape['name'];
  readonly shape: Shape;
}

export class Graph {
  readonly nodes: readonly GraphNode[];
  private readonly byName: ReadonlyMap<string, GraphNode>;

  constructor(specs: readonly NodeSpec[]) {
    const nodes: GraphNode[] = [];
    const byName = new Map<string, GraphNode>();
    for (const spec of specs) {
      const node = buildNode(spec, nodes, byName);
      nodes.push(node);
      byName.set(node.name, node);
    }
    if (!nodes.some((n) => n.op.type === 'input')) throw new GraphError('INPUT_COUNT', 'a graph needs an input node');
    this.nodes = nodes;
    this.byName = byName;
  }

  /** Every input node: a model has one; a device's part of a partitioned graph also takes what other devices send it. */
  get inputs(): GraphNode[] {
    return this.nodes.filter((n) => n.op.type === 'input');
  }

  /** The input node of a graph that has exactly one. */
  get input(): GraphNode {
    const inputs = this.inputs;
    if (inputs.length !== 1) throw new GraphError('INPUT_COUNT', `this graph has ${inputs.length} input nodes (${inputs.map((n) => n.name).join(', ')}); one was expected`);
    return inputs[0];
  }

  /** The last node: what running the graph returns. */
  get output(): GraphNode {
    return this.nodes[this.nodes.length - 1];
  }

  node(name: string): GraphNode {
    const node = this.byName.get(name);
    if (!node) throw new GraphError('NO_SUCH_NODE', `no node named "${name}"; nodes: ${this.nodes.map((n) => n.name).join(' ')}`);
    return node;
  }

  /** Every parameter in node order, weight before bias. */
  params(): ParamSpec[] {
    return this.nodes.flatMap((n) => n.params.map((p) => ({ name: `${n.name}.${p.name}`, node: n.name, kind: p.name, shape: p.shape })));
  }

  paramCount(): number {
    return this.nodes.reduce((sum, n) => sum + n.paramCount, 0);
  }

  macs(): number {
    return this.nodes.reduce((sum, n) => sum + n.macs, 0);
  }
}

function buildNode(spec: NodeSpec, earlier: readonly GraphNode[], byName: ReadonlyMap<string, GraphNode>): GraphNode {
  const where = `node "${spec.name}" (${spec.op.type})`;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(spec.name)) {
    throw new GraphError('BAD_NAME', `${where}: names must be identifiers (letters, digits, _), as they become file and tensor names`);
  }
  if (byName.has(spec.name)) throw new GraphError('DUPLICATE_NAME', `${where}: the name is already used by an earlier node`);
  const def = defOf(spec.op);
  const expected = def.arity;
  const previous = earlier[earlier.length - 1];
  const inputNames = spec.inputs ?? (expected === 0 || !previous ? [] : [previous.name]);
  if (expected === 'many' ? inputNames.length === 0 : inputNames.length !== expected) {
    throw new GraphError('ARITY', `${where}: takes ${expected === 'many' ? 'one or more' : expected} input(s), got ${inputNames.length}`);
  }
  const device = spec.device ?? 0;
  if (!(Number.isSafeInteger(device) && device >= 0)) throw new GraphError('BAD_DEVICE', `${where}: device must be a non-negative integer, got ${device}`);
  const inputShapes = inputNames.map((name) => {
    const source = byName.get(name);
    if (!source) throw new GraphError('UNKNOWN_INPUT', `${where}: reads "${name}", which is not an earlier node`);
    return source.shape;
  });
  const input = inputShapes[0] ?? [];
  try {
    const shape = def.outputShape(spec.op, input, inputShapes);
    if (shape.some((d) => !(Number.isSafeInteger(d) && d > 0))) throw new OpShapeError(`gives output shape ${shapeToString(shape)}`);
    const params = def.params(spec.op, input);
    return {
      name: spec.name,
      op: spec.op,
      inputs: inputNames,
      device,
      inputShapes,
      shape,
      params,
      paramCount: params.reduce((sum, p) => sum + sizeOf(p.shape), 0),
      macs: def.macs(spec.op, input, shape),
      description: def.describe(spec.op, input, shape),
    };
  } catch (e) {
    if (!(e instanceof OpShapeError)) throw e;
    const got = inputShapes.length ? `; input shape${inputShapes.length > 1 ? 's' : ''} ${inputShapes.map(shapeToString).join(', ')}` : '';
    throw new GraphError('SHAPE', `${where}: ${e.message}${got}`);
  }
}
