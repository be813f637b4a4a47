/* The includes cmocka needs before its own header, in the order it needs them. */
#ifndef SOCKERLESS_TESTS_CMOCKA_PRELUDE_H
#define SOCKERLESS_TESTS_CMOCKA_PRELUDE_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#endif
