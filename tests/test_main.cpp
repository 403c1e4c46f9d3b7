#define BOOST_TEST_MODULE fovea
#include <boost/test/unit_test.hpp>
