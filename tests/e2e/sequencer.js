// End-to-end files run in name order: provisioning (01-) first, then what builds on it.
const Sequencer = require("@jest/test-sequencer").default;
module.exports = class ByName extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => a.path.localeCompare(b.path));
  }
};
