{
  description = "nixcross offline demo: no inputs, no nixpkgs, builds for any system";

  # Each system's builder is a static Go program (../builder) compiled for
  # that system and placed at ./builders/<system> before the build; `make
  # demo` and the integration tests do that in a temporary copy.
  #
  # The check nixpkgs applies before it evaluates (its default.nix with
  # lib/minver.nix): every real flake that imports nixpkgs inherits it, so
  # the fixture does too, and an old Nix fails here as it would there.
  outputs = { self }:
    let
      requiredVersion = "2.18";
      nixTooOld = !(builtins ? nixVersion)
        || builtins.compareVersions requiredVersion builtins.nixVersion == 1;
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
          # Allocates until it is killed (issue 23: out of memory).
          hog = mk "hog" { mode = "hog"; };
          # CPU-bound work, about 0.7 s of CPU natively on x86_64 (bench/emulation).
          cpu = mk "cpu" { mode = "cpu"; rounds = "100"; };
          clock = mk "clock" { mode = "clock"; };
          passwd = mk "passwd" { mode = "passwd"; };
          network = mk "network" { mode = "net"; };
          # Overwrites greeting's files in the store it builds in (issue 15:
          # stores isolated by flake keep that from another flake's result).
          tamper = mk "tamper" { mode = "tamper"; target = greeting; };
          # Looks for every forwarded credential and writes what it found
          # into its output (issue 21: builders never reach them).
          snoop = mk "snoop" { mode = "snoop"; };
        };
    in
    if nixTooOld then
      abort "This version of Nixpkgs requires Nix >= ${requiredVersion}, please upgrade:"
    else {
      packages = builtins.listToAttrs (map (system: { name = system; value = forSystem system; }) systems);
    };
}
