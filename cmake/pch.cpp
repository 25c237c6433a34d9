// The translation unit fusion_pch compiles so CMake builds its precompiled header.
