// Writes jest's aggregated results as JSON to the file named by FS2_TEST_RESULTS (used by
// .ci/run, which must not depend on jest's own summary line). Without the variable: a no-op.
import { writeFileSync } from 'node:fs';

export default function processResults(results) {
  const out = process.env.FS2_TEST_RESULTS;
  if (out) {
    const summary = {
      success: results.success,
      numPassedTests: results.numPassedTests,
      numFailedTests: results.numFailedTests,
      numPendingTests: results.numPendingTests,
      numTodoTests: results.numTodoTests,
      numTotalTests: results.numTotalTests,
      numRuntimeErrorTestSuites: results.numRuntimeErrorTestSuites,
      numFailedTestSuites: results.numFailedTestSuites,
      failed: results.testResults.flatMap((file) => [
        ...(file.testExecError ? [`${file.testFilePath}: ${file.testExecError.message}`] : []),
        ...file.testResults.filter((t) => t.status === 'failed').map((t) => `${file.testFilePath}: ${t.fullName}`),
      ]),
    };
    writeFileSync(out, JSON.stringify(summary, null, 2));
  }
  return results;
}
