// WASM SIMD kernels. The WASM backend issue fills this module; for now it only states the ABI
// version the host checks before calling anything, so the build and its loading are exercised.
export function abiVersion(): i32 {
  return 1;
}
