//! VPC placement of functions that reach a database: a security group per function, egress
//! to HTTPS and to each database, ingress on the database's group, and the ENI permissions.

use super::expr::{r, sub, Expr, LogicalId};
use super::functions::{EgressRule, IngressView, VpcView};
use super::policy::{allow, Statement};
use crate::model::*;

pub(super) fn vpc(sys: &System, f: &Function, st: &mut Vec<Statement>) -> Option<VpcView> {
    (!f.databases.is_empty()).then(|| {
        let sg_id = LogicalId::security_group(&f.identity);
        st.push(allow("DescribeNetworkInterfaces", &["ec2:DescribeNetworkInterfaces"], Expr::lit("*")));
        st.push(allow(
            "ManageOwnNetworkInterfaces",
            &[
                "ec2:AssignPrivateIpAddresses",
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:UnassignPrivateIpAddresses",
            ],
            Expr::List(vec![
                sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*"),
                sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:subnet/*"),
                sub(&format!(
                    "arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:security-group/${{{sg_id}}}"
                )),
            ]),
        ));
        let mut egress = vec![EgressRule {
            description: "HTTPS to AWS APIs and external endpoints (through NAT or VPC endpoints)".into(),
            port: 443,
            cidr: Some("0.0.0.0/0".into()),
            destination_sg: None,
        }];
        let mut ingress = Vec::new();
        for d in &f.databases {
            let Some(db) = sys.database(d) else { continue };
            egress.push(EgressRule {
                description: format!("MySQL to database {d}"),
                port: db.port,
                cidr: None,
                destination_sg: Some(r(&LogicalId::db_param(d, "SecurityGroupId"))),
            });
            ingress.push(IngressView {
                id: LogicalId::db_ingress(&f.identity, d),
                db_sg: r(&LogicalId::db_param(d, "SecurityGroupId")),
                port: db.port,
                // The identity, as in the group's description: a rename (`renamed_from`) changes nothing here.
                description: format!("function {} of {} reaches database {d}", f.identity, sys.prefix()),
            });
        }
        VpcView {
            // GroupDescription cannot change without replacing the group: the identity, so a
            // rename (`renamed_from`) keeps it.
            sg_description: format!("{}: function {}", sys.prefix(), f.identity),
            sg_id,
            vpc_id: r(&LogicalId::vpc()),
            subnets: r(&LogicalId::private_subnets()),
            egress,
            ingress,
        }
    })
}
