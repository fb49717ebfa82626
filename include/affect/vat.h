/* Virtual adversarial training (seed 004, §2.2–3.2) of an MLP regressor:
 * the adversarial direction by power iteration and the loss MSE +
 * lambda · LDS with its gradient. The training loop that uses it:
 * affect/mlp-train.h; the method and its numerics: docs/design-vat.md. */
#ifndef AFFECT_VAT_H
#define AFFECT_VAT_H

#include <glib.h>

#include "affect/mlp.h"

G_BEGIN_DECLS typedef enum
{
  /* exact power step through Jacobian-vector products (default) */
  AFFECT_VAT_POWER_JVP,
  /* the classic finite difference f(x + xi d) − f(x) in float32; cancels
   * to 0 for small xi on many samples, kept to show why JVP is default */
  AFFECT_VAT_POWER_FINITE_DIFFERENCE
} AffectVatPower;

typedef struct
{
  double epsilon;               /* ‖r_adv‖ (1.5) */
  double lambda;                /* weight of LDS in the loss (1.5) */
  double xi;                    /* finite-difference step (1e-6) */
  int power_iterations;         /* (1) */
  AffectVatPower power;
} AffectVatConfig;

void affect_vat_config_init (AffectVatConfig * config);

/* r_adv (n × n_inputs) for standardised inputs xs from the random
 * directions d (any norm): the power iteration on the divergence
 * ‖f(x + r) − f(x)‖² / 2, then scaled to ‖r‖ = epsilon. A sample whose
 * output does not depend on its input (e.g. a dead ReLU output) gets r = 0. */
void affect_vat_adversarial_perturbation (AffectMlp * mlp,
    const AffectVatConfig * config, const float *xs, const float *d,
    float *r, int n);

/* Adds to the parameter gradients ∂/∂θ of
 *   MSE(f(xs), y) + lambda · (1/n) Σ_i ‖f(xs_i + r_i) − f(xs_i)‖² / 2
 * with f(xs) constant in the second term, r = r_adv from directions d.
 * Returns the total; mse and lds (may be NULL) receive the parts. */
double affect_vat_loss_grad (AffectMlp * mlp, const AffectVatConfig * config,
    const float *xs, const float *y, const float *d, int n, double *mse,
    double *lds);

G_END_DECLS
#endif /* AFFECT_VAT_H */
