export { alexnet, PRESETS, scaleChannels } from './alexnet.js';
export type { AlexNetConfig, Preset } from './alexnet.js';
export { CAFFE_PREPROCESSING, IMAGENET_RGB_MEAN_255, PREPROCESSING } from './preprocessing.js';
export { matchPreset } from './recognize.js';
export type { PresetMatch } from './recognize.js';
export type { Preprocessing } from './preprocessing.js';
