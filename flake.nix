{
  description = "nixcross's online main job: a shelffiles-style package set from nixpkgs, buildable for any system with `nixcross build --system S`";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "riscv64-linux" "armv7l-linux"
                  "i686-linux" "powerpc64le-linux" "s390x-linux"
                  "x86_64-darwin" "aarch64-darwin" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in {
      packages = forAll (pkgs: {
        # The package list lives in packages.nix, as in shelffiles.
        default = pkgs.buildEnv {
          name = "shelffiles";
          paths = import ./packages.nix { inherit pkgs; };
        };
      });
    };
}
