// Shared by the actions/cache stand-in's restore and save steps.
const fs = require("node:fs");
const path = require("node:path");

const root = process.env.E2E_ACTIONS_CACHE;
const input = (name) => (process.env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] || "").trim();
const workspacePath = () => path.resolve(process.env.GITHUB_WORKSPACE, input("path"));
const entry = (key) => path.join(root, encodeURIComponent(key));

module.exports = { fs, path, root, input, workspacePath, entry };
