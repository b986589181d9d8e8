"""cc_grpc_proto: .proto -> C++ message and gRPC service libraries.

Bazel cannot download rules_proto or gRPC's rules here, so this macro runs
Debian's `protoc` and `grpc_cpp_plugin` in a genrule. Import paths are
relative to the workspace root (`import "proto/common.proto";`), and the
generated headers are included the same way (`#include "proto/common.pb.h"`).
"""

def cc_grpc_proto(name, srcs, deps = [], visibility = None):
    """Generates `name` (a cc_library) from `srcs`.

    Args:
      name: the cc_library to create.
      srcs: .proto files of this package.
      deps: other cc_grpc_proto targets whose .proto files `srcs` import.
      visibility: visibility of the cc_library.
    """
    outs = []
    for src in srcs:
        base = src[:-len(".proto")]
        outs += [
            base + ".pb.h",
            base + ".pb.cc",
            base + ".grpc.pb.h",
            base + ".grpc.pb.cc",
        ]
    native.filegroup(
        name = name + "_protos",
        srcs = srcs + [dep + "_protos" for dep in deps],
        visibility = visibility,
    )
    native.genrule(
        name = name + "_gen",
        srcs = srcs + [dep + "_protos" for dep in deps],
        outs = outs,
        cmd = ("/usr/bin/protoc -I. --cpp_out=$(GENDIR) --grpc_out=$(GENDIR) " +
               "--plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin " +
               " ".join(["$(location %s)" % src for src in srcs])),
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        # Generated code is not ours to fix; keep our -Werror off it.
        copts = ["-Wno-error", "-Wno-unused-parameter"],
        deps = deps + [
            "//third_party:grpc",
            "//third_party:protobuf",
        ],
        visibility = visibility,
    )
