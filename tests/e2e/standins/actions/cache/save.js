const { fs, input, workspacePath, entry } = require("./common.js");

// As actions/cache's post step does: the key the restore step computed, and no save after an exact hit.
const key = process.env.STATE_primary_key || input("key");
if (process.env.STATE_matched_key === key) {
  console.log(`stand-in cache: hit on ${key}, not saved again`);
} else if (fs.existsSync(entry(key))) {
  console.log(`stand-in cache: ${key} exists, not saved again`);
} else if (fs.existsSync(workspacePath())) {
  fs.cpSync(workspacePath(), entry(key), { recursive: true });
  console.log(`stand-in cache: saved ${key}`);
}
