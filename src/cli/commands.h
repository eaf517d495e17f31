/* One entry point per subcommand: `amod NAME args...` calls amod_cmd_NAME(argc, argv) with
 * argv[0] = NAME. Each returns the process exit status. */
#ifndef AMOD_CLI_COMMANDS_H
#define AMOD_CLI_COMMANDS_H

int amod_cmd_flops(int argc, char **argv);

int amod_cmd_forward(int argc, char **argv);
/* cmd_forward_lm.c: the forward pass of language models; amod_forward_is_lm tells whether
 * the model directory among the arguments holds a GPT-2 or Llama checkpoint. */
int amod_cmd_forward_lm(int argc, char **argv);
int amod_forward_is_lm(int argc, char **argv);
int amod_cmd_diff(int argc, char **argv);
int amod_cmd_data(int argc, char **argv);
int amod_cmd_bench(int argc, char **argv);
int amod_cmd_train(int argc, char **argv);
int amod_cmd_adapt(int argc, char **argv);
int amod_cmd_eval(int argc, char **argv);
int amod_cmd_predict(int argc, char **argv);
int amod_cmd_plot(int argc, char **argv);
int amod_cmd_route(int argc, char **argv);
int amod_cmd_importance(int argc, char **argv);
int amod_cmd_generate(int argc, char **argv);
int amod_cmd_train_lm(int argc, char **argv);
int amod_cmd_eval_lm(int argc, char **argv);
int amod_cmd_calibrate_lm(int argc, char **argv);
int amod_cmd_tokenize(int argc, char **argv);

#endif
