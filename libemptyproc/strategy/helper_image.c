/* SPDX-License-Identifier: MIT */
/*
 * helper_image.c - the bytes of the helper program ep-stub, built into the library for the safeexec
 * strategy (written to a sealed memfd and exec'ed from it: strategy/helper.cpp). EP_HELPER_BINARY
 * is the helper's path in the build tree; the build makes this object depend on it.
 */
__asm__(".section .rodata\n"
        ".balign 64\n"
        ".globl ep_helper_image\n"
        ".hidden ep_helper_image\n"
        "ep_helper_image:\n"
        ".incbin \"" EP_HELPER_BINARY "\"\n"
        ".globl ep_helper_image_end\n"
        ".hidden ep_helper_image_end\n"
        "ep_helper_image_end:\n"
        ".previous\n");
