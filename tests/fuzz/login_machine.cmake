iser_fuzz_target(login_machine SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/login_machine.cpp LIBS iser_login
                 CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/login_machine SECONDS 15)
