/* optimisers: each update against the torch.optim equations evaluated in
 * double, and convergence on a quadratic */
#include <math.h>
#include <string.h>

#include "affect/affect.h"
#include "affect/nn.h"

enum
{ N = 9, STEPS = 5 };

/* the gradient at step s of a fixed, changing sequence */
static float
grad_at (int s, int i)
{
  return (float) (sin (0.7 * i + 1.3 * s) * pow (10.0, (i % 3) - 2));
}

static void
reference_adam (double *w, int steps, double lr, double wd, gboolean adamw)
{
  double m[N] = { 0 }, v[N] = { 0 };
  int s, i;

  for (s = 1; s <= steps; s++)
    for (i = 0; i < N; i++) {
      double g = grad_at (s - 1, i);
      if (adamw)
        w[i] *= 1.0 - lr * wd;
      else
        g += wd * w[i];
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      w[i] -= lr / (1 - pow (0.9, s)) * m[i] /
          (sqrt (v[i]) / sqrt (1 - pow (0.999, s)) + 1e-8);
    }
}

static void
reference_sgd (double *w, int steps, double lr, double mom, gboolean nesterov,
    double wd)
{
  double buf[N] = { 0 };
  int s, i;

  for (s = 0; s < steps; s++)
    for (i = 0; i < N; i++) {
      double d = grad_at (s, i) + wd * w[i];
      if (mom != 0.0) {
        buf[i] = s == 0 ? d : mom * buf[i] + d;
        d = nesterov ? d + mom * buf[i] : buf[i];
      }
      w[i] -= lr * d;
    }
}

static void
run (AffectOptimizer * opt, const double *w0, double *ref)
{
  int64_t shape[1] = { N };
  AffectParam p;
  AffectParam *params[1] = { &p };
  int s, i;

  affect_param_alloc (&p, "w", 1, shape, TRUE, TRUE);
  for (i = 0; i < N; i++)
    p.value.data[i] = (float) w0[i];
  for (s = 0; s < STEPS; s++) {
    for (i = 0; i < N; i++)
      p.grad[i] = grad_at (s, i);
    affect_optimizer_step (opt, params, 1);
  }
  for (i = 0; i < N; i++) {
    double scale = fabs (ref[i] - w0[i]) + 1e-6;
    /* float32 arithmetic against double: relative to the distance moved */
    g_assert_cmpfloat (fabs (p.value.data[i] - ref[i]) / scale, <, 1e-3);
  }
  affect_param_clear (&p);
}

static void
test_optimizers (void)
{
  double w0[N], ref[N];
  AffectOptimizer opt;
  int i;

  for (i = 0; i < N; i++)
    w0[i] = 0.5 - 0.1 * i;

  memcpy (ref, w0, sizeof (w0));
  reference_adam (ref, STEPS, 1e-2, 0.0, FALSE);
  affect_optimizer_init_adam (&opt, 1e-2);
  run (&opt, w0, ref);

  memcpy (ref, w0, sizeof (w0));
  reference_adam (ref, STEPS, 1e-2, 0.1, FALSE);
  affect_optimizer_init_adam (&opt, 1e-2);
  opt.weight_decay = 0.1;
  run (&opt, w0, ref);

  memcpy (ref, w0, sizeof (w0));
  reference_adam (ref, STEPS, 1e-2, 0.1, TRUE);
  affect_optimizer_init_adam (&opt, 1e-2);
  opt.weight_decay = 0.1;
  opt.decoupled_decay = TRUE;
  run (&opt, w0, ref);

  memcpy (ref, w0, sizeof (w0));
  reference_sgd (ref, STEPS, 0.1, 0.0, FALSE, 0.0);
  affect_optimizer_init_sgd (&opt, 0.1, 0.0, FALSE, 0.0);
  run (&opt, w0, ref);

  memcpy (ref, w0, sizeof (w0));
  reference_sgd (ref, STEPS, 0.1, 0.9, FALSE, 0.01);
  affect_optimizer_init_sgd (&opt, 0.1, 0.9, FALSE, 0.01);
  run (&opt, w0, ref);

  memcpy (ref, w0, sizeof (w0));
  reference_sgd (ref, STEPS, 0.1, 0.9, TRUE, 0.01);
  affect_optimizer_init_sgd (&opt, 0.1, 0.9, TRUE, 0.01);
  run (&opt, w0, ref);
}

static void
test_convergence (void)
{
  /* minimise Σ a_i (w_i - c_i)² with each optimiser */
  int64_t shape[1] = { N };
  AffectOptimizer opts[3];
  int o, s, i;

  affect_optimizer_init_adam (&opts[0], 0.05);
  affect_optimizer_init_sgd (&opts[1], 0.02, 0.9, FALSE, 0.0);
  affect_optimizer_init_sgd (&opts[2], 0.02, 0.9, TRUE, 0.0);
  for (o = 0; o < 3; o++) {
    AffectParam p;
    AffectParam *params[1] = { &p };
    affect_param_alloc (&p, "w", 1, shape, TRUE, FALSE);
    for (s = 0; s < 2000; s++) {
      affect_params_zero_grad (params, 1);
      for (i = 0; i < N; i++)
        p.grad[i] = 2.0f * (1.0f + i) * (p.value.data[i] - (i - 4.0f));
      affect_optimizer_step (&opts[o], params, 1);
    }
    for (i = 0; i < N; i++)
      g_assert_cmpfloat (fabsf (p.value.data[i] - (i - 4.0f)), <, 1e-3f);
    affect_param_clear (&p);
  }
}

/* a parameter long enough to be split over threads and vectorised: every
 * element must come out with the bits of the same element updated alone
 * (nine-element run), at one thread and at two */
static void
test_long_parameter (void)
{
  const int64_t n = (int64_t) N * 33334;
  int64_t shape_long[1] = { n }, shape_short[1] = { N };
  int decay, threads, s;

  for (decay = 0; decay < 3; decay++)
    for (threads = 1; threads <= 2; threads++) {
      AffectParam shortp, longp;
      AffectParam *ps[1] = { &shortp }, *pl[1] = { &longp };
      AffectOptimizer os, ol;
      int64_t i;

      affect_param_alloc (&shortp, "w", 1, shape_short, TRUE, TRUE);
      affect_param_alloc (&longp, "w", 1, shape_long, TRUE, TRUE);
      for (i = 0; i < n; i++)
        longp.value.data[i] = 0.5f - 0.1f * (float) (i % N);
      for (i = 0; i < N; i++)
        shortp.value.data[i] = 0.5f - 0.1f * (float) i;
      affect_optimizer_init_adam (&os, 1e-2);
      os.weight_decay = decay > 0 ? 0.1 : 0.0;
      os.decoupled_decay = decay == 2;
      ol = os;
      /* the long parameter's step also clears its gradient: same bits */
      ol.zero_grad = TRUE;
      affect_set_threads (threads);
      for (s = 0; s < STEPS; s++) {
        for (i = 0; i < n; i++)
          longp.grad[i] = grad_at (s, (int) (i % N));
        for (i = 0; i < N; i++)
          shortp.grad[i] = grad_at (s, (int) i);
        affect_optimizer_step (&os, ps, 1);
        affect_optimizer_step (&ol, pl, 1);
        for (i = 0; i < n; i++)
          if (longp.grad[i] != 0.0f)
            g_error ("decay mode %d: gradient %" G_GINT64_FORMAT
                " not cleared by the step", decay, i);
      }
      affect_set_threads (0);
      for (i = 0; i < n; i++)
        if (longp.value.data[i] != shortp.value.data[i % N])
          g_error ("decay mode %d, %d threads: element %" G_GINT64_FORMAT
              " is %.9g, alone %.9g", decay, threads, i, longp.value.data[i],
              shortp.value.data[i % N]);
      affect_param_clear (&shortp);
      affect_param_clear (&longp);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  affect_init ();
  g_test_add_func ("/nn/optim/equations", test_optimizers);
  g_test_add_func ("/nn/optim/convergence", test_convergence);
  g_test_add_func ("/nn/optim/long-parameter", test_long_parameter);
  return g_test_run ();
}
