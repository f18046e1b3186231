/* commands.h — the entry point of every dpmlab subcommand (one cmd_<name>.c each). */
#ifndef DPM_CLI_COMMANDS_H
#define DPM_CLI_COMMANDS_H

int cmd_oracle(int argc, char **argv);
int cmd_distance(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_variance(int argc, char **argv);
int cmd_trajectory(int argc, char **argv);
int cmd_elbo(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_samplers(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_bridge(int argc, char **argv);
int cmd_admissible(int argc, char **argv);
int cmd_memorisation(int argc, char **argv);
int cmd_likelihood(int argc, char **argv);
int cmd_elbo_sde(int argc, char **argv);
int cmd_score_matching(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_tv_bound(int argc, char **argv);
int cmd_regimes(int argc, char **argv);

#endif
