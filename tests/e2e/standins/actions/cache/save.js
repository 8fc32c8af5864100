const { fs, input, workspacePath, entry } = require("./common.js");

const key = input("key");
if (fs.existsSync(entry(key))) {
  console.log(`stand-in cache: ${key} exists, not saved again`);
} else if (fs.existsSync(workspacePath())) {
  fs.cpSync(workspacePath(), entry(key), { recursive: true });
  console.log(`stand-in cache: saved ${key}`);
}
