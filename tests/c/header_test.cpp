// The header compiles as C++ too (checked with -fsyntax-only).
#include "wsclient.h"

static_assert(sizeof(ws_handle) == 8, "handles are 64-bit");

int main() {
    ws_handle h = 0;
    return ws_free(h) == WS_ERR_INVALID_HANDLE ? 0 : 1;
}
