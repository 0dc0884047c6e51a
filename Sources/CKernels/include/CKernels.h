#include "mlp_lanes.h"
#include "block_tests.h"
#include "normal_lanes.h"
#include "program_eval.h"
