import { KmodelError } from '@kmodel/core';

/** The KmodelError that `f` throws; any other outcome fails the test. */
export function thrown(f: () => unknown): KmodelError {
  try {
    f();
  } catch (e) {
    if (e instanceof KmodelError) return e;
    throw e;
  }
  throw new Error('expected a KmodelError');
}
