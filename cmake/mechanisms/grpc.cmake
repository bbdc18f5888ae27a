# gRPC (mechanisms/grpc.cpp: grpc_unix, grpc_tcp): gRPC C++ 1.51 and protobuf from
# libgrpc++-dev, found through pkg-config. mechanisms/ipcbench_echo.proto is compiled
# by protoc and grpc_cpp_plugin at build time into the build directory. The generated
# code does not pass our strict warnings, so it is its own small library without
# ipcbench_warnings (as rpcgen's is, in CMakeLists.txt). The mechanisms' objects need
# its headers and gRPC's; every program that links ipcbench_core (which carries those
# objects) needs the libraries.
find_package(PkgConfig REQUIRED)
pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++>=1.51)
pkg_check_modules(PROTOBUF REQUIRED IMPORTED_TARGET protobuf)
find_program(PROTOC protoc REQUIRED)
find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
set(GRPC_GEN_DIR ${CMAKE_BINARY_DIR}/generated/grpc)
file(MAKE_DIRECTORY ${GRPC_GEN_DIR})
set(GRPC_GEN_FILES
  ${GRPC_GEN_DIR}/ipcbench_echo.pb.h ${GRPC_GEN_DIR}/ipcbench_echo.pb.cc
  ${GRPC_GEN_DIR}/ipcbench_echo.grpc.pb.h ${GRPC_GEN_DIR}/ipcbench_echo.grpc.pb.cc)
add_custom_command(
  OUTPUT ${GRPC_GEN_FILES}
  COMMAND ${PROTOC} --proto_path=${CMAKE_SOURCE_DIR}/mechanisms
          --cpp_out=${GRPC_GEN_DIR} --grpc_out=${GRPC_GEN_DIR}
          --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN}
          ${CMAKE_SOURCE_DIR}/mechanisms/ipcbench_echo.proto
  DEPENDS ${CMAKE_SOURCE_DIR}/mechanisms/ipcbench_echo.proto
  COMMENT "protoc + grpc_cpp_plugin mechanisms/ipcbench_echo.proto")
add_library(ipcbench_grpc_gen STATIC ${GRPC_GEN_FILES})
target_compile_options(ipcbench_grpc_gen PRIVATE -w)
target_include_directories(ipcbench_grpc_gen SYSTEM PUBLIC ${GRPC_GEN_DIR})
target_link_libraries(ipcbench_grpc_gen PUBLIC PkgConfig::GRPCPP PkgConfig::PROTOBUF)
target_link_libraries(ipcbench_mechanisms PRIVATE ipcbench_grpc_gen)
target_link_libraries(ipcbench_core PUBLIC ipcbench_grpc_gen)
