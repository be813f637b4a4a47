/*
 * sockerless-agent: runs inside a remote resource and serves exec, attach, logs, signals and
 * files for the container's command. The agent protocol and both modes come with the agent
 * driver; this build only identifies itself, and refuses to run anything rather than pretend.
 */
#include <stdio.h>
#include <string.h>

#include "base/version.h"

int
main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)) {
        printf("sockerless-agent version %s, build %s\n", SOCKERLESS_VERSION,
               SOCKERLESS_GIT_COMMIT);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("Usage: sockerless-agent [--listen ADDR | --callback URL] [--keep-alive] -- CMD "
               "ARGS...\n(not functional in this build: the agent protocol is not implemented "
               "yet)\n");
        return 0;
    }
    fprintf(stderr, "sockerless-agent: not functional in this build: the agent protocol is not "
                    "implemented yet\n");
    return 1;
}
