const { fs, root, input, workspacePath, entry } = require("./common.js");

// As actions/cache does: an exact key first, else each restore-keys prefix in turn, the newest entry it matches.
const key = input("key");
const prefixes = input("restore-keys").split("\n").map((line) => line.trim()).filter(Boolean);
const keys = fs.existsSync(root) ? fs.readdirSync(root).map(decodeURIComponent) : [];
const newest = (matches) => matches.sort((a, b) => fs.statSync(entry(a)).mtimeMs - fs.statSync(entry(b)).mtimeMs).pop();
const found = keys.includes(key) ? key : prefixes.map((p) => newest(keys.filter((k) => k.startsWith(p)))).find(Boolean);
if (found) {
  fs.cpSync(entry(found), workspacePath(), { recursive: true });
  console.log(`stand-in cache: restored ${found}`);
} else {
  console.log(`stand-in cache: miss for ${key}`);
}
// The post step saves under this key, evaluated now, not under the key its inputs would give at the job's end
// (actions/cache keeps it as the state CachePrimaryKey; dvc.lock, say, may have changed by then).
fs.appendFileSync(process.env.GITHUB_STATE, `primary_key=${key}\nmatched_key=${found || ""}\n`);
fs.appendFileSync(process.env.GITHUB_OUTPUT, `cache-hit=${found === key}\n`);
