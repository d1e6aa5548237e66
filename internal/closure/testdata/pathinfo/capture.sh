set -e
cd /tmp
cat > d.nix <<'N'
let dep = derivation { name = "nixcross-shape-dep"; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo dep > $out" ]; };
in derivation { name = "nixcross-shape"; system = builtins.currentSystem; builder = "/bin/sh"; inherit dep; outputs = [ "out" "doc" ]; args = [ "-c" "echo $dep > $out; echo doc > $doc" ]; }
N
nix --version
echo '@@build-json'
nix build --json --no-link -f d.nix 2>/dev/null
echo
echo '@@print-out-paths'
nix build --print-out-paths --no-link -f d.nix 2>/dev/null || echo "(unsupported)"
out=$(nix build --json --no-link -f d.nix 2>/dev/null | grep -o '"/nix/store/[^"]*-nixcross-shape"' | tr -d '"')
echo '@@path-info'
nix path-info --json --recursive $out
echo
