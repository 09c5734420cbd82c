// The type of the Emscripten glue that the build writes to dist/wasm/electrolite.mjs, for
// js/wasm-loader.ts's static import of it (the glue itself is generated, never checked in).
import type { EngineModuleFactory } from '../js/engine-module.js';

declare const createElectroliteModule: EngineModuleFactory;
export default createElectroliteModule;
