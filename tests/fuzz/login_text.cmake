iser_fuzz_target(login_text SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/login_text.cpp LIBS iser_login
                 CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/login_text SECONDS 15)
