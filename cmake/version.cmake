# The one version of iserd and iserctl: project(... VERSION) in the top CMakeLists.txt, plus,
# when the source is a git checkout, what `git describe --tags --always --dirty` says of it.
# Written at configure time into BUILD/generated/iser/version.hpp (common/version.hpp.in).
# The configure step is re-run when HEAD moves (a commit, a checkout), so the binaries do not
# show a stale commit; uncommitted edits after that show up at the next configure only.
set(ISER_GIT_DESCRIBE "")
find_package(Git QUIET)
if(GIT_FOUND)
  # Only when the source folder is itself the top of a checkout: a release tarball unpacked
  # inside some other repository (a packaging tree) must not show that repository's commit.
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${CMAKE_SOURCE_DIR} rev-parse --show-toplevel
                  OUTPUT_VARIABLE toplevel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  file(REAL_PATH "${CMAKE_SOURCE_DIR}" source_real)
  set(describe_rc 1)
  if(toplevel)
    file(REAL_PATH "${toplevel}" toplevel_real)
    if(toplevel_real STREQUAL source_real)
      execute_process(COMMAND ${GIT_EXECUTABLE} -C ${CMAKE_SOURCE_DIR} describe --tags --always --dirty
                      OUTPUT_VARIABLE ISER_GIT_DESCRIBE OUTPUT_STRIP_TRAILING_WHITESPACE
                      RESULT_VARIABLE describe_rc ERROR_QUIET)
    endif()
  endif()
  if(NOT describe_rc EQUAL 0)
    set(ISER_GIT_DESCRIBE "")  # not a checkout (a release tarball): the project version alone
  else()
    # Reconfigure when HEAD or the branch it names moves. In a worktree both live outside
    # the source folder, so ask git where.
    execute_process(COMMAND ${GIT_EXECUTABLE} -C ${CMAKE_SOURCE_DIR} rev-parse --symbolic-full-name HEAD
                    OUTPUT_VARIABLE branch OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    foreach(name HEAD ${branch})
      execute_process(COMMAND ${GIT_EXECUTABLE} -C ${CMAKE_SOURCE_DIR} rev-parse --path-format=absolute --git-path ${name}
                      OUTPUT_VARIABLE path OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(path AND EXISTS ${path})
        set_property(DIRECTORY ${CMAKE_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${path})
      endif()
    endforeach()
  endif()
endif()

set(ISER_VERSION_LINE "${PROJECT_VERSION}")
if(ISER_GIT_DESCRIBE)
  set(ISER_VERSION_LINE "${PROJECT_VERSION} (git ${ISER_GIT_DESCRIBE})")
endif()
configure_file(${CMAKE_SOURCE_DIR}/common/version.hpp.in ${CMAKE_BINARY_DIR}/generated/iser/version.hpp @ONLY)
include_directories(${CMAKE_BINARY_DIR}/generated)
message(STATUS "iser version: ${ISER_VERSION_LINE}")
