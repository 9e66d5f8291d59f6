#!/usr/bin/env bash
# Consumer check: does the MlNetFff package work for an app OUTSIDE this repository?
#   bash scripts/consumer-check.sh            (run by .ci/run after the tests; 35-75 s here)
# 1. Packs MlNetFff and MlNetFff.Plotting into a temporary local feed, under a unique prerelease version, so that no
#    copy cached by an earlier run can stand in for the package just built.
# 2. Builds tests/ConsumerCheck (MlNetFff + TorchSharp-cpu, nothing else) in a temporary folder outside the repository,
#    with its own empty NuGet packages folder. Third-party packages (ML.NET, TorchSharp, and 1.2 GB of libtorch packages)
#    are read from the user's NuGet cache as a read-only fallback folder instead of being downloaded and unpacked again;
#    our packages can only come from the fresh folder, because no other place has their version.
# 3. Runs it: trains, saves and reloads one model per task. Then `dotnet publish` and runs the published output.
# 4. Checks the TorchSharp glibc patch: applied to the build and publish copies of libLibTorchSharp.so exactly when the
#    host's libstdc++ lacks GLIBCXX_3.4.32, the NuGet cache's copy unchanged; and, on such a host, that the unpatched
#    library makes training fail with MlNetFff's short error (naming the missing version) instead of TorchSharp's trace.
# 5. Checks that an app that references MlNetFff alone (scoring only) restores no libtorch package.
# Exits non-zero on the first failed step. MLNETFF_CONSUMER_KEEP=1 keeps the temporary folder.
set -euo pipefail
# The checks below know TorchSharp's Linux x64 layout (runtimes/linux-x64/native); CI runs on Debian 12 x64.
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then echo "consumer check: written for Linux x64; skipped on $(uname -s)-$(uname -m)"; exit 0; fi
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mlnetfff-consumer.XXXXXX")
if [ "${MLNETFF_CONSUMER_KEEP:-0}" = "1" ]; then echo "keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
start=$(date +%s)
step() { echo "-- consumer check [$(( $(date +%s) - start )) s]: $*"; }
fail() { echo "consumer check FAILED: $*" >&2; exit 1; }

user_cache=${NUGET_PACKAGES:-$HOME/.nuget/packages}
version="1.0.0-consumer.$(date -u +%Y%m%d%H%M%S).$$"
feed=$work/feed
app=$work/app

step "pack $version"
dotnet build "$repo/Microsoft.ML.Fff.Plotting/Microsoft.ML.Fff.Plotting.csproj" -c Release -v quiet -nologo
for project in Microsoft.ML.Fff Microsoft.ML.Fff.Plotting; do
    # --no-build: the package holds exactly the build the tests ran against; only the package version differs.
    dotnet pack "$repo/$project/$project.csproj" -c Release --no-build -o "$feed" -p:PackageVersion="$version" -v quiet -nologo
done
for file in "MlNetFff.$version.nupkg" "MlNetFff.$version.snupkg" "MlNetFff.Plotting.$version.nupkg"; do
    [ -f "$feed/$file" ] || fail "pack did not produce $file"
done
# (The listing goes to a file first: with pipefail, `unzip | grep -q` fails whenever grep stops reading early.)
unzip -l "$feed/MlNetFff.$version.nupkg" > "$work/package-files.txt"
grep -q ' buildTransitive/MlNetFff.targets$' "$work/package-files.txt" || fail "the package has no buildTransitive/MlNetFff.targets"

step "build the app outside the repository ($app)"
mkdir -p "$app" "$work/packages"
cp "$repo/tests/ConsumerCheck/ConsumerCheck.csproj" "$repo/tests/ConsumerCheck/Program.cs" "$app/"
cat > "$app/NuGet.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="mlnetfff-consumer-feed" value="$feed" />
  </packageSources>
  <fallbackPackageFolders>
    <add key="user-cache" value="$user_cache" />
  </fallbackPackageFolders>
</configuration>
XML
export NUGET_PACKAGES=$work/packages
cd "$app"
if ! dotnet build -c Release -nologo -v minimal -p:MlNetFffVersion="$version" > "$work/build.log" 2>&1; then
    cat "$work/build.log" >&2
    fail "the consumer app did not build"
fi
grep -E "warning|Marked the" "$work/build.log" || true
[ -d "$work/packages/mlnetfff/$version" ] || fail "MlNetFff $version was not restored into the fresh packages folder"

# The glibc patch: expected exactly when the host's libstdc++ lacks the version.
needs_patch=1
for lib in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib64/libstdc++.so.6; do
    if [ -f "$lib" ]; then grep -q GLIBCXX_3.4.32 "$lib" && needs_patch=0; break; fi
done
original=$( (find "$user_cache/torchsharp" "$work/packages" -path '*/torchsharp/0.107.0/runtimes/linux-x64/native/libLibTorchSharp.so' 2>/dev/null || true) | head -n 1)
[ -n "$original" ] || fail "TorchSharp 0.107.0's libLibTorchSharp.so is in neither packages folder"
original_sum=$(sha256sum < "$original")
check_patch() {   # $1: the output folder
    local copy="$1/runtimes/linux-x64/native/libLibTorchSharp.so"
    [ -f "$copy" ] || fail "no libLibTorchSharp.so in $1 (TorchSharp-cpu's natives did not reach the app)"
    if [ "$needs_patch" = "1" ]; then
        cmp -s "$copy" "$original" && fail "$copy is not patched, though this host's libstdc++ lacks GLIBCXX_3.4.32"
    else
        cmp -s "$copy" "$original" || fail "$copy was changed, though this host's libstdc++ has GLIBCXX_3.4.32"
    fi
    return 0
}
check_patch "$app/bin/Release/net10.0"

step "run the build output: train, save, reload (binary, multiclass, regression)"
dotnet "$app/bin/Release/net10.0/ConsumerCheck.dll" "$work/models-build" || fail "the consumer app failed from its build output"

step "publish and run the published output"
dotnet publish -c Release -nologo -v quiet -p:MlNetFffVersion="$version" -o "$work/publish" || fail "dotnet publish failed"
check_patch "$work/publish"
dotnet "$work/publish/ConsumerCheck.dll" "$work/models-publish" || fail "the published consumer app failed"
[ "$(sha256sum < "$original")" = "$original_sum" ] || fail "the NuGet cache's libLibTorchSharp.so was modified"

if [ "$needs_patch" = "1" ]; then
    step "without the patch, training must fail with MlNetFff's short error"
    cp "$original" "$work/publish/runtimes/linux-x64/native/libLibTorchSharp.so"
    # In a subshell whose own stderr is dropped: .NET aborts on an unhandled exception, and bash would report "Aborted".
    if (dotnet "$work/publish/ConsumerCheck.dll" "$work/models-unpatched" > "$work/unpatched.out" 2> "$work/unpatched.err"; exit $?) 2> /dev/null; then
        fail "training succeeded with the unpatched library on a host without GLIBCXX_3.4.32: the check cannot see the patch"
    fi
    grep -q "requires GLIBCXX_3.4.32" "$work/unpatched.err" || { cat "$work/unpatched.err" >&2; fail "the error does not name GLIBCXX_3.4.32"; }
    grep -q "Trace from LoadNativeBackend" "$work/unpatched.out" "$work/unpatched.err" && fail "TorchSharp's trace was printed"
    [ ! -d "$work/publish/cpu" ] || fail "TorchSharp copied libtorch next to the app"
    echo "   $(grep -m1 'requires GLIBCXX' "$work/unpatched.err" | cut -c1-200)"
fi

step "a scoring-only app (MlNetFff alone) gets no libtorch"
mkdir -p "$work/scoring"
sed -e '/TorchSharp-cpu/d' "$app/ConsumerCheck.csproj" > "$work/scoring/Scoring.csproj"
cp "$app/NuGet.config" "$app/Program.cs" "$work/scoring/"
dotnet build "$work/scoring/Scoring.csproj" -c Release -nologo -v quiet -p:MlNetFffVersion="$version" > "$work/scoring.log" 2>&1 \
    || { cat "$work/scoring.log" >&2; fail "the scoring-only app did not build"; }
grep -qi '"libtorch-' "$work/scoring/obj/project.assets.json" && fail "a scoring-only app restores a libtorch package"
natives=$(find "$work/scoring/bin" -name '*torch*.so*')
[ -z "$natives" ] || fail "a scoring-only app's output has libtorch binaries: $natives"
[ -f "$work/scoring/bin/Release/net10.0/Microsoft.ML.Fff.dll" ] || fail "the scoring-only app's output has no Microsoft.ML.Fff.dll"

step "passed ($(( $(date +%s) - start )) s)"
