export { ActionError, Space } from './space.js';
export { Discrete } from './discrete.js';
export { Box, type BoxDtype } from './box.js';
