export { ActionError, Space } from './space.js';
export { Discrete } from './discrete.js';
export { Box, type BoxDtype } from './box.js';
export { Tuple, type SpacesOf } from './tuple.js';
export { MultiDiscrete, type MultiDiscreteOptions } from './multi_discrete.js';
export { MultiBinary } from './multi_binary.js';
