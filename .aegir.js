/**
 * aegir runs the dependency check (`npm run dep-check`). Only src/ is shipped;
 * examples, interop peers, benchmarks and tests use devDependencies.
 */
export default {
  dependencyCheck: {
    productionIgnorePatterns: ['/benchmarks', '/dist', '/examples', '/interop', '/test', '.aegir.js']
  }
}
