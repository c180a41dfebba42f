/* stub */
#include "cli.h"
static int run_report(const cli_args *a) { (void)a; return 1; }
const cli_command cli_cmd_report = {
    .name = "report", .synopsis = "-o OUT.html QUERY REFERENCE...", .summary = "x", .help = "",
    .options = CLI_OPT_OUTPUT, .required = CLI_OPT_OUTPUT, .min_pos = 2, .max_pos = -1, .run = run_report,
};
