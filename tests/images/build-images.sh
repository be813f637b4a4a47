#!/usr/bin/env bash
# Build small, real, deterministic Docker images from Debian's busybox-static.
#
# Usage: tests/images/build-images.sh OUTDIR
#
# Produces (see README.md in this directory):
#   OUTDIR/busybox.tar         docker-archive, sockerless-test/busybox:latest (1 layer)
#   OUTDIR/busybox-app.tar     docker-archive, sockerless-test/app:latest     (2 layers)
#   OUTDIR/busybox-rootfs.tar  plain rootfs tar of busybox.tar (for `docker import`)
#
# Prints one line per image on stdout: "<file> <image-id> <tag>".
# Needs: /bin/busybox (busybox-static), GNU tar, /usr/bin/python3, sha256sum.
# No network access is used. Running it twice yields byte-identical output.
set -euo pipefail

export LC_ALL=C TZ=UTC

if [ "$#" -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
OUTDIR=$1

BUSYBOX=/bin/busybox
PYTHON=/usr/bin/python3

if [ ! -x "$BUSYBOX" ]; then
    echo "error: $BUSYBOX not found; install busybox-static" >&2
    exit 1
fi
if [ ! -x "$PYTHON" ]; then
    echo "error: $PYTHON not found" >&2
    exit 1
fi
if ! tar --version 2>/dev/null | grep -q 'GNU tar'; then
    echo "error: GNU tar is required" >&2
    exit 1
fi

case "$(uname -m)" in
    x86_64 | amd64) ARCH=amd64 ;;
    aarch64 | arm64) ARCH=arm64 ;;
    armv7* | armv6* | arm) ARCH=arm ;;
    i?86) ARCH=386 ;;
    ppc64le) ARCH=ppc64le ;;
    s390x) ARCH=s390x ;;
    riscv64) ARCH=riscv64 ;;
    *)
        echo "error: unsupported machine $(uname -m)" >&2
        exit 1
        ;;
esac

# Fixed timestamp used for every mtime and every "created" field.
CREATED="2024-01-01T00:00:00Z"
MTIME="@1704067200"

mkdir -p "$OUTDIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sockerless-images.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Deterministic tar: fixed mtime, owner, order and format.
dtar() {
    # dtar OUT.tar DIR NAMES...
    local out=$1 dir=$2
    shift 2
    tar --create --file="$out" --directory="$dir" \
        --format=ustar --sort=name --mtime="$MTIME" \
        --owner=0 --group=0 --numeric-owner "$@"
}

# ---------------------------------------------------------------- layer 1
ROOT=$WORK/rootfs
mkdir -p "$ROOT"/{bin,etc,tmp,root,home,proc,sys,dev}
cp "$BUSYBOX" "$ROOT/bin/busybox"
"$BUSYBOX" --list | while IFS= read -r applet; do
    [ -n "$applet" ] || continue
    [ "$applet" = busybox ] && continue
    ln -s busybox "$ROOT/bin/$applet"
done

cat >"$ROOT/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
cat >"$ROOT/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF

find "$ROOT" -type d -exec chmod 0755 {} +
find "$ROOT" -type f -exec chmod 0644 {} +
chmod 0755 "$ROOT/bin/busybox"
chmod 1777 "$ROOT/tmp"
chmod 0700 "$ROOT/root"

LAYER1=$WORK/layer1.tar
dtar "$LAYER1" "$ROOT" bin dev etc home proc root sys tmp

# ---------------------------------------------------------------- layer 2
APP=$WORK/app
mkdir -p "$APP/app"
printf 'hello from layer 2\n' >"$APP/app/hello.txt"
cat >"$APP/app/run.sh" <<'EOF'
#!/bin/sh
echo "$GREETING"
EOF
chmod 0755 "$APP/app"
chmod 0644 "$APP/app/hello.txt"
chmod 0755 "$APP/app/run.sh"

LAYER2=$WORK/layer2.tar
dtar "$LAYER2" "$APP" app

# ---------------------------------------------------------------- archives
# Python (stdlib only) writes the JSON documents and lays out the
# docker-archive staging directories; GNU tar packs them.
"$PYTHON" - "$WORK" "$ARCH" "$CREATED" "$LAYER1" "$LAYER2" <<'PYEOF'
import hashlib, json, os, sys

work, arch, created, layer1, layer2 = sys.argv[1:6]
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def build(name, tag, layers, config, history):
    """layers: list of uncompressed layer tar paths, bottom first."""
    stage = os.path.join(work, "stage-" + name)
    os.makedirs(stage)
    os.chmod(stage, 0o755)
    diff_ids = ["sha256:" + sha256_file(p) for p in layers]
    cfg = {
        "architecture": arch,
        "os": "linux",
        "created": created,
        "config": config,
        "history": history,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    cfg_bytes = dumps(cfg)
    image_id = hashlib.sha256(cfg_bytes).hexdigest()
    write(os.path.join(stage, image_id + ".json"), cfg_bytes)

    # Legacy v1 layer directories (as `docker save` writes them). The v1 id
    # is a chain digest so identical layers share a directory name.
    layer_paths = []
    parent = ""
    for i, (path, diff_id) in enumerate(zip(layers, diff_ids)):
        v1 = hashlib.sha256((parent + " " + diff_id).encode()).hexdigest()
        d = os.path.join(stage, v1)
        os.makedirs(d)
        os.chmod(d, 0o755)
        with open(path, "rb") as f:
            write(os.path.join(d, "layer.tar"), f.read())
        write(os.path.join(d, "VERSION"), b"1.0")
        v1json = {"id": v1, "created": created, "os": "linux",
                  "architecture": arch,
                  "container_config": {"Cmd": None}}
        if parent:
            v1json["parent"] = parent
        if i == len(layers) - 1:
            v1json["config"] = config
        write(os.path.join(d, "json"), dumps(v1json))
        layer_paths.append(v1 + "/layer.tar")
        parent = v1

    repo, _, tg = tag.rpartition(":")
    manifest = [{"Config": image_id + ".json", "RepoTags": [tag],
                 "Layers": layer_paths}]
    write(os.path.join(stage, "manifest.json"), dumps(manifest))
    write(os.path.join(stage, "repositories"), dumps({repo: {tg: parent}}) + b"\n")
    with open(os.path.join(work, name + ".id"), "w") as f:
        f.write("sha256:" + image_id + "\n")


base_hist = {"created": created,
             "created_by": "/bin/sh -c #(nop) ADD busybox-static rootfs in /"}

build("busybox", "sockerless-test/busybox:latest",
      [layer1],
      {"Env": [PATH_ENV], "Cmd": ["sh"]},
      [base_hist])

build("busybox-app", "sockerless-test/app:latest",
      [layer1, layer2],
      {"Env": [PATH_ENV, "GREETING=hi"],
       "Entrypoint": ["/bin/sh", "/app/run.sh"],
       "Cmd": ["default-arg"],
       "WorkingDir": "/app",
       "User": "",
       "Labels": {"org.sockerless.test": "app"},
       "ExposedPorts": {"8080/tcp": {}}},
      [base_hist,
       {"created": created,
        "created_by": "/bin/sh -c #(nop) ADD app/hello.txt app/run.sh in /app/"}])
PYEOF

pack() {
    # pack NAME -> OUTDIR/NAME.tar from the staging dir
    local stage=$WORK/stage-$1
    local names
    names=$(cd "$stage" && ls -1)
    # shellcheck disable=SC2086
    dtar "$WORK/$1.tar" "$stage" $names
    mv -f "$WORK/$1.tar" "$OUTDIR/$1.tar"
}

pack busybox
pack busybox-app
cp "$LAYER1" "$WORK/busybox-rootfs.tar"
mv -f "$WORK/busybox-rootfs.tar" "$OUTDIR/busybox-rootfs.tar"

echo "$OUTDIR/busybox.tar $(cat "$WORK/busybox.id") sockerless-test/busybox:latest"
echo "$OUTDIR/busybox-app.tar $(cat "$WORK/busybox-app.id") sockerless-test/app:latest"
