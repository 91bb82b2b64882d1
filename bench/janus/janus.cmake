# Janus side by side (bench/janus/): the Janus API client over WebSocket, the SDP it writes
# (read with protocol/sdp), the full-ICE/DTLS-either-role transport, the janus-probe tool
# and the SDP unit tests. Included from bench/CMakeLists.txt:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/janus/janus.cmake)
# Uses the targets of the top-level CMakeLists.txt (chorus_net, chorus_rtp, doctest_main).
set(CHORUS_JANUS_DIR ${CMAKE_CURRENT_LIST_DIR})
add_library(chorus_janus STATIC
  ${CHORUS_JANUS_DIR}/sdp.cpp
  ${CHORUS_JANUS_DIR}/janus_client.cpp
  ${CHORUS_JANUS_DIR}/janus_transport.cpp)
target_include_directories(chorus_janus PUBLIC ${CHORUS_JANUS_DIR}/../..)
# Beast/Asio only in janus_client.cpp; RapidJSON appears in janus_client.hpp.
target_include_directories(chorus_janus SYSTEM PRIVATE ${Boost_INCLUDE_DIRS})
target_include_directories(chorus_janus SYSTEM PUBLIC ${RAPIDJSON_INCLUDE_DIR})
target_link_libraries(chorus_janus PUBLIC chorus_protocol chorus_net chorus_rtp chorus_common Threads::Threads)
target_compile_features(chorus_janus PUBLIC cxx_std_20)

# janus-probe: one publisher and one subscriber through Janus (bench/janus/README.md).
add_executable(janus-probe ${CHORUS_JANUS_DIR}/janus_probe.cpp)
target_link_libraries(janus-probe PRIVATE chorus_janus)
set_target_properties(janus-probe PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})

add_executable(unit_bench_janus ${CHORUS_JANUS_DIR}/../../tests/unit/bench_janus_sdp.cpp)
target_link_libraries(unit_bench_janus PRIVATE doctest_main chorus_janus)
add_test(NAME unit_bench_janus COMMAND unit_bench_janus)
set_tests_properties(unit_bench_janus PROPERTIES LABELS release)

# chorus-bench --target janus (bench/janus/janus_bench.hpp): the class scenario through Janus.
target_sources(chorus-bench PRIVATE ${CHORUS_JANUS_DIR}/janus_bench.cpp)
target_link_libraries(chorus-bench PRIVATE chorus_janus)
