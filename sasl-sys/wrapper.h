/* The headers sasl-sys binds. saslplug.h needs sasl.h and prop.h first. */
#include <sasl/sasl.h>
#include <sasl/saslutil.h>
#include <sasl/prop.h>
#include <sasl/saslplug.h>
