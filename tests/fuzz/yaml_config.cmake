# The iser.yaml loader (config/loader.cpp, yaml-cpp underneath) and the planner over what it accepts.
iser_fuzz_target(yaml_config
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/yaml_config.cpp
  LIBS iser_config
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/yaml_config
  SECONDS 15)
