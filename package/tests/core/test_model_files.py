"""A model file that carries code is refused before any of it runs. The payloads are written the way an attacker
writes them (skops's own dump refuses to): one more attribute of the pipeline, rebuilt at load time by calling a
function with an argument. Each would leave a marker file behind if it ran. A release's SHA256SUMS is read strictly:
a line that is not a digest and a name is refused naming it."""

import json
import sys
import zipfile

import pytest
from fixture_model.pipeline.train import MODEL_TYPES

from ml_gitops import UserError
from ml_gitops.core import files, paths


def with_call(model_file, target, function: str, argument: str) -> None:
    """Copy `model_file` to `target` with one more attribute: `function(argument)`, called when it loads."""
    with zipfile.ZipFile(model_file) as source:
        members = {name: source.read(name) for name in source.namelist()}
    schema = json.loads(members["schema.json"])
    module, _, name = function.rpartition(".")
    schema["content"]["content"]["planted"] = {
        "__class__": name,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": {
            "__class__": "tuple",
            "__module__": "builtins",
            "__loader__": "TupleNode",
            "content": [
                {
                    "__class__": "str",
                    "__module__": "builtins",
                    "__loader__": "JsonNode",
                    "content": json.dumps(argument),
                    "is_json": True,
                }
            ],
        },
    }
    keys = schema["content"]["key_types"]["content"]
    keys.append(dict(keys[0]))
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(target, "w") as written:
        for name, data in members.items():
            written.writestr(name, data)


def payloads(marker):
    python = f"open({str(marker)!r}, 'w').write('ran')"
    shell = f"touch {marker}"
    return [
        ("builtins.exec", python),
        ("builtins.eval", python),
        ("os.system", shell),
        ("posix.system", shell),
        ("subprocess.getoutput", shell),
        ("builtins.open", str(marker)),
    ]


@pytest.mark.parametrize("index", range(6))
def test_a_model_file_carrying_code_is_refused_before_it_runs(trained, tmp_path, index):
    marker = tmp_path / "ran"
    function, argument = payloads(marker)[index]
    poisoned = tmp_path / "model.skops"
    with_call(paths.MODEL, poisoned, function, argument)
    with pytest.raises(UserError) as caught:
        files.load_model(poisoned, MODEL_TYPES)
    assert str(caught.value) == f"{poisoned} contains untrusted types ({function}): refusing to load it"
    assert not marker.exists(), "nothing of the payload ran"


def test_the_payload_would_run_if_its_type_were_trusted(trained, tmp_path):
    """The check above is what stops it: trusting the payload's type by mistake runs it."""
    marker = tmp_path / "ran"
    poisoned = tmp_path / "model.skops"
    with_call(paths.MODEL, poisoned, "builtins.exec", f"open({str(marker)!r}, 'w').write('ran')")
    files.load_model(poisoned, MODEL_TYPES | {"builtins.exec"})
    assert marker.exists()
    assert sys.modules["builtins"]  # the interpreter is fine; only the marker was written


def test_a_trusted_partial_does_not_trust_the_function_it_wraps(trained, tmp_path):
    """MODEL_TYPES trusts functools.partial (gradient boosting with categories holds one of check_array): a partial
    of exec is still refused, because skops names the wrapped function as a type of its own."""
    import functools

    import skops.io

    marker = tmp_path / "ran"
    model = files.load_model(paths.MODEL, MODEL_TYPES)
    model.planted = functools.partial(exec, f"open({str(marker)!r}, 'w').write('ran')")
    poisoned = tmp_path / "model.skops"
    skops.io.dump(model, poisoned)
    with pytest.raises(UserError, match=r"contains untrusted types \(builtins.exec\): refusing to load it"):
        files.load_model(poisoned, MODEL_TYPES)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"deadbeef\n", ": line 1 is not '<sha256>  <name>'"),
        (
            f"{'0' * 64}  model.skops\n\n{'0' * 64}model.skops\n".encode(),
            ": line 3 is not '<sha256>  <name>'",
        ),
        (b"\xff\xfe\x00digest\n", " is not UTF-8 text: download SHA256SUMS from the model's release"),
    ],
)
def test_a_malformed_checksums_file_is_refused_naming_its_line(trained, tmp_path, content, problem):
    checksums = tmp_path / "SHA256SUMS"
    checksums.write_bytes(content)
    with pytest.raises(UserError) as caught:
        files.load_model(paths.MODEL, MODEL_TYPES, checksums)
    assert str(caught.value) == f"{checksums}{problem}"


def test_checksums_are_read_as_sha256sum_writes_them(tmp_path):
    """Text mode (two spaces) and binary mode (" *"), blank lines skipped, any case of hex digits."""
    checksums = tmp_path / "SHA256SUMS"
    checksums.write_text(f"{'A' * 64}  model.skops\n\n{'b' * 64} *card.md\n")
    assert files.read_checksums(checksums) == {"model.skops": "a" * 64, "card.md": "b" * 64}
