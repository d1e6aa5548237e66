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
          hello = mk "hello" { mode = "hello"; dep = greeting; };
          slow = mk "slow" { mode = "sleep"; seconds = "600"; };
        in {
          default = hello;
          inherit greeting slow;
          # Sleeps on aarch64-linux; elsewhere a hello whose greeting takes
          # 15 s, the window in which a fleet's aarch64 host must be
          # building too (issue 27: hosts build at once; one lost while
          # another finishes).
          slowArm = if system == "aarch64-linux" then slow
            else mk "hello" { mode = "hello"; dep = mk "greeting" { mode = "sleep"; seconds = "15"; message = "hello from ${system}"; }; };
          failing = mk "failing" { mode = "fail"; };
          # Says nothing for 40 s, as a long compile step does (the
          # heartbeat off a terminal).
          silent = mk "silent" { mode = "sleep"; seconds = "40"; silent = "1"; };
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
          # A program whose ELF interpreter is a store path and a script
          # whose #! is one (issue 22: --dereference says they need /nix).
          dynamic = mk "dynamic" { mode = "dynamic"; dep = greeting; };
        };
    in
    if nixTooOld then
      abort "This version of Nixpkgs requires Nix >= ${requiredVersion}, please upgrade:"
    else {
      packages = builtins.listToAttrs (map (system: { name = system; value = forSystem system; }) systems);
    };
}
