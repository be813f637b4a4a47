"""Prune filters that select what goes: `label`, `label!` and `until` (containers and images)."""

import json
import urllib.parse
import uuid

from images_fixture import loaded_images, names  # noqa: F401 (fixtures)

BUSYBOX = "sockerless-test/busybox"


def prune(raw, api_version, what, filters):
    q = urllib.parse.quote(json.dumps(filters))
    status, _, body = raw.request("POST", f"/v{api_version}/{what}/prune?filters={q}")
    assert status == 200, body
    return json.loads(body)


def test_container_prune_label_and_negated_label(cli, raw, api_version, names, loaded_images):  # noqa: F811
    run = uuid.uuid4().hex[:8]
    keep, drop = names(), names()
    for name, extra in ((keep, "keep"), (drop, "drop")):
        out = cli("create", "--name", name, "--label", f"run={run}", "--label", f"role={extra}",
                  BUSYBOX, "true")
        assert out.returncode == 0, out.stderr
    got = prune(raw, api_version, "containers",
                {"label": [f"run={run}"], "label!": ["role=keep"]})
    ids = got["ContainersDeleted"] or []
    listed = cli("ps", "-a", "--filter", f"label=run={run}", "--format", "{{.Names}}").stdout.split()
    assert listed == [keep]
    assert len(ids) == 1


def test_image_prune_until_keeps_newer_images(cli, raw, api_version, loaded_images):  # noqa: F811
    tag = f"sockerless-e2e/prune-until:{uuid.uuid4().hex[:8]}"
    assert cli("tag", BUSYBOX, tag).returncode == 0
    try:
        # The test images were created in 2024: an `until` before that prunes nothing.
        got = prune(raw, api_version, "images",
                    {"dangling": ["false"], "until": ["2020-01-01T00:00:00Z"]})
        assert not got["ImagesDeleted"]
        assert cli("image", "inspect", tag).returncode == 0
        assert cli("image", "inspect", BUSYBOX).returncode == 0
    finally:
        cli("rmi", tag)
