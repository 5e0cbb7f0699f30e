export { alexnet, PRESETS, scaleChannels } from './alexnet.js';
export type { AlexNetConfig, Preset } from './alexnet.js';
