{
  description = "nixcross offline demo: no inputs, no nixpkgs, builds for any system";

  # Each system's builder is a static Go program (../builder) compiled for
  # that system and placed at ./builders/<system> before the build; `make
  # demo` and the integration tests do that in a temporary copy.
  outputs = { self }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "riscv64-linux" "armv7l-linux"
                  "i686-linux" "powerpc64le-linux" "s390x-linux" ];
      forSystem = system:
        let
          builder = ./builders + "/${system}";
          mk = name: attrs: derivation ({ inherit name system builder; } // attrs);
          greeting = mk "greeting" { mode = "dep"; message = "hello from ${system}"; };
        in {
          default = mk "hello" { mode = "hello"; dep = greeting; };
          inherit greeting;
          failing = mk "failing" { mode = "fail"; };
          slow = mk "slow" { mode = "sleep"; seconds = "600"; };
          files = mk "files" { mode = "files"; count = "5000"; size = "43008"; };
        };
    in {
      packages = builtins.listToAttrs (map (system: { name = system; value = forSystem system; }) systems);
    };
}
