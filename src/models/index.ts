export { alexnet, PRESETS, scaleChannels } from './alexnet.js';
export type { AlexNetConfig, Preset } from './alexnet.js';
export { IMAGENET_RGB_MEAN_255, PREPROCESSING } from './preprocessing.js';
export type { Preprocessing } from './preprocessing.js';
