{
  inputs.lib.url = "git+file://@ROOT@/lib";
  inputs.nixpkgs.url = "github:NixOS/nixpkgs";
  # inputs.old.url = "path:@ROOT@/not-there";
  inputs.shared = { url = "path:../shared"; flake = false; };
  outputs = { self, lib, ... }: { };
}
