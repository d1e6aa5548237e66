# The packages the online main job builds: edit the list, then
#   nixcross build --system aarch64-linux
{ pkgs }:
with pkgs; [
  hello
  ripgrep
  jq
]
