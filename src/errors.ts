// Every error a user can cause is one of these: a class per area (its `name` is what the CLI prints
// first) and a `code` per kind of fault, so tests and callers can tell faults apart without parsing
// messages. Messages say what was wrong, where, and what was expected.

export class AlexnetError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  // spelled out, not new.target.name: a bundler's minifier renames classes (the notebook page shows this)
  override readonly name: string = 'AlexnetError';
}

/** A graph that cannot be built: an op's shapes, attributes or wiring are inconsistent. */
export class GraphError extends AlexnetError {
  override readonly name = 'GraphError';
}
/** A safetensors file that breaks the format. */
export class SafetensorsError extends AlexnetError {
  override readonly name = 'SafetensorsError';
}
/** A .npy file that breaks the format or holds something other than little-endian float32. */
export class NpyError extends AlexnetError {
  override readonly name = 'NpyError';
}
/** Weights that are well-formed but do not fit the model (names, shapes, values). */
export class WeightsError extends AlexnetError {
  override readonly name = 'WeightsError';
}
/** A tensor that does not have the shape an operation needs. */
export class ShapeError extends AlexnetError {
  override readonly name = 'ShapeError';
}
/** A graph that cannot be split over the devices asked for, or a placement that breaks residency. */
export class PartitionError extends AlexnetError {
  override readonly name = 'PartitionError';
}
/** A backend that cannot run here or failed while running (missing build, engine support, a worker). */
export class BackendError extends AlexnetError {
  override readonly name = 'BackendError';
}
/** A command-line usage that cannot be carried out. */
export class UsageError extends AlexnetError {
  override readonly name = 'UsageError';
}
/** An image file that cannot be decoded: corrupt, truncated, too large, or a format we do not read. */
export class ImageError extends AlexnetError {
  override readonly name = 'ImageError';
}
/** A dataset (folder, IDX files, stats file) that is missing, malformed or inconsistent. */
export class DatasetError extends AlexnetError {
  override readonly name = 'DatasetError';
}
/** A training checkpoint that cannot be read back, or a run folder that cannot be resumed. */
export class CheckpointError extends AlexnetError {
  override readonly name = 'CheckpointError';
}
/** A training run that cannot go on: its loss or weights stopped being finite. */
export class TrainingError extends AlexnetError {
  override readonly name = 'TrainingError';
}
/** A pickle that uses an opcode, global or call a weights file has no business with, or breaks the format. */
export class PickleError extends AlexnetError {
  override readonly name = 'PickleError';
}
/** A PyTorch .pth/.pt file that is not a readable state dict: its archive, storages or tensors. */
export class PytorchError extends AlexnetError {
  override readonly name = 'PytorchError';
}
/** An ONNX model that cannot be read, or holds ops or attributes the op set cannot express. */
export class OnnxError extends AlexnetError {
  override readonly name = 'OnnxError';
}
