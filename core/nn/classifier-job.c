/* A classifier training run set up from an element's settings
 * (AffectClassifierJob, include/affect/classifier.h) */
#include "affect/affect.h"
#include "affect/classifier.h"

AffectMoodNetTrainer *
affect_classifier_job_start (const AffectClassifierJob * job,
    AffectMoodNet ** net, char ***labels, GError ** error)
{
  AffectMoodNetConfig c;
  AffectMoodNetTrainOptions o;
  AffectMoodNetTrainer *trainer;

  affect_moodnet_config_init (&c, (int) job->classes);
  c.output = job->single_label ? AFFECT_MOODNET_SOFTMAX :
      AFFECT_MOODNET_SIGMOID;
  c.chunks = (int) job->chunks;
  c.chunk_frames = (int) job->chunk_frames;
  c.n_mels = (int) job->n_mels;
  c.width = job->width;
  c.input_norm = job->standardise;
  *net = affect_classifier_start (&c, job->seed, job->init_model, error);
  if (*net == NULL)
    return NULL;
  affect_moodnet_train_options_init (&o);
  o.epochs = (int) job->epochs;
  o.sgd_epochs = (int) job->sgd_epochs;
  o.batch_size = (int) job->batch_size;
  o.adam_lr = job->learning_rate;
  o.mixup = job->mixup;
  o.spec_augment = job->spec_augment;
  o.standardise = job->standardise;
  o.crops = (AffectCropsMode) job->crops;
  o.select = (AffectTrainSelect) job->select;
  o.seed = job->seed;
  o.resume = job->resume;
  o.cache_budget = (size_t) job->cache_budget << 20;
  o.output = job->output;
  g_strfreev (*labels);
  *labels = affect_classifier_labels (job->vocabulary, job->classes);
  trainer = affect_classifier_trainer_new (*net, &o,
      (const char *const *) *labels, job->features_json);
  return trainer;
}
