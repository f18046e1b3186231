/* dpmlab.h — the whole public API of libdpmlab in one include. */
#ifndef DPMLAB_H
#define DPMLAB_H

#include "dpm_common.h"
#include "dpm_rng.h"
#include "dpm_quad.h"
#include "dpm_process.h"
#include "dpm_data.h"
#include "dpm_oracle.h"
#include "dpm_distance.h"
#include "dpm_metrics.h"
#include "dpm_denoiser.h"
#include "dpm_io.h"
#include "dpm_plot.h"
#include "dpm_notebook.h"
#include "dpm_analytic.h"
#include "dpm_imperfect.h"
#include "dpm_guidance.h"
#include "dpm_sampler.h"
#include "dpm_forward.h"
#include "dpm_optim.h"
#include "dpm_bridge.h"
#include "dpm_likelihood.h"
#include "dpm_scorematch.h"

#endif
